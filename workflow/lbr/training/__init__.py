"""Training: the one device-resident loop, the batched on-device augmentations, and the three trainers built
on it (Fig. 4 classifiers, Fig. 3 learning dynamics, Figs. 5-6 guided autoencoders)."""
