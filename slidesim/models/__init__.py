"""Force fields of slidesim: additive force terms combined into a model."""
