"""raereid: unsupervised cross-dataset person re-identification with the Recurrent Auto-Encoder."""

__version__ = "0.1.0"
