"""What the counter sells: products, their price history and photos."""
