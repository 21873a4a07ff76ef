//! Jobs as a person meets them: a card at once, pushed changes, a place in line, cancel, the
//! budget, and work that outlives the tab, the request and the process.

mod budget;
mod lifecycle;
mod processes;
mod queue;
mod site;
