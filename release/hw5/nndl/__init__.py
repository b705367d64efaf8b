"""nndl: the layers, models and training code of the CNN-from-scratch course."""
