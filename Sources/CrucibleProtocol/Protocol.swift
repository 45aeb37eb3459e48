// Wire primitives and generated message types.
