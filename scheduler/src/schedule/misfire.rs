//! The plan for fires missed while no scheduler ran.

/// Placeholder, replaced by the implementation.
#[derive(Debug)]
pub struct FirePlan;
/// Placeholder, replaced by the implementation.
#[derive(Debug)]
pub struct PlannedFire;
/// Placeholder, replaced by the implementation.
pub fn plan_fires() {}
