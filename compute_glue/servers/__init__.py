"""Servers: one QEMU process per VM, driven over QMP, with volumes hot-plugged over iSCSI."""
