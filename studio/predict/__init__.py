"""What a drawing shows on Predict: the reading, Teach it, and Inside the network. Imports
mnist_core, studio.session and studio.ui."""
