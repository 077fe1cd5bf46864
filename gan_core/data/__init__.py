"""Data layer: MNIST IDX files, CelebA JPEG folders, SiC-diamond CT slices; fetching and caching."""
