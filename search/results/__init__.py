"""What comes after a search: the best trial, its export, final training, tables and plots."""
