//! Integration tests of fleet-envsubst.

mod vectors;
