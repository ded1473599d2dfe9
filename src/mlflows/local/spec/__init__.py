"""What the user gave: the workflow document, its name and parameters, and every up-front check."""
