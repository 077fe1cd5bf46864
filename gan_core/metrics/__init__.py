"""Quality metrics: classifier-feature FID/KID, class accuracy, mode coverage, Inception FID/KID, inpainting."""
