"""The guest lab: raw config-space access happens only in a throwaway QEMU q35 guest that shares the host root."""
