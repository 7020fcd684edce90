"""Docker-free local stack: moto with axon's documented patches, the local data plane, and the ASL runner."""
