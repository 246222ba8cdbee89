//! The wiring: bounded channels between stages, worker pools, ordering.
