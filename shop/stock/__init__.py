"""Stock: allocation (pure), lots and their movements (the one module that changes stock), counters."""
