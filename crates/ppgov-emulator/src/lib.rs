//! Power Platform tenant emulator and deterministic scenario generator; independent of product logic
