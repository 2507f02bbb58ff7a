//! one renderer per output format: findings to bytes
