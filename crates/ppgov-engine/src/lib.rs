//! built-in posture rules, the DLP engine, Rego policies and compliance mapping; pure, no I/O
