"""Remote stores: event streams kept in NATS JetStream, read through a local mirror file."""
