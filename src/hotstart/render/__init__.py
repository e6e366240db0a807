"""One renderer per output format: pure functions from the model to text."""
