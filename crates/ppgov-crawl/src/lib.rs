//! concurrent inventory crawler; maps wire types to domain types
