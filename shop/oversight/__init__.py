"""What officers, supervisors and inspectors read: income, statements, reviews, payouts, corrections, reports."""
