//! serde wire types for every Microsoft API ppgov speaks
