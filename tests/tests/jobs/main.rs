//! Jobs as a person meets them: a card at once, pushed changes, a place in line, cancel, the
//! budget, and work that outlives the tab and the request. Work that outlives the process is
//! in `tasks.rs`, a test binary of its own so that nothing else competes with its processes.

mod budget;
mod lifecycle;
mod queue;
mod site;
