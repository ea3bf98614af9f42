"""Stateless ODE/SDE samplers and guidance, registered in ``SAMPLERS``."""
