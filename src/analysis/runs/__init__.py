"""Running the notebooks: parameters, plans and run keys, warm kernels, execution and manifests."""
