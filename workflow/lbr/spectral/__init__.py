"""The pixels' spectrum: preprocessing, streaming second moments, eigenbases, variance subspaces, projections,
and the per-direction energy of reconstructions (learning dynamics)."""
