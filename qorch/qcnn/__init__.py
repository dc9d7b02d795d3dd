"""QCNN: quantum convolutional neural networks for classical data."""
