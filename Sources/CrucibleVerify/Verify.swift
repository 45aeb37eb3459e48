// Checkers over histories: Kafka queue analysis and linearizability.
