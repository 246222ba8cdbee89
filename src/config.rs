//! Configuration: defaults < config file < environment < flags.
