"""Closed-form theory: task alignment (Eq. 7), denoising and masked autoencoders (Theorem 3), Theorem 1."""
