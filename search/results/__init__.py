"""What a user looks at around a search: the data before it; after it, the best trial, its
export, final training, tables and plots."""
