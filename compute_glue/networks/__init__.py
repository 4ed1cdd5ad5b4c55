"""Networks: Neutron-shaped networks, subnets and ports on Linux bridges and taps."""
