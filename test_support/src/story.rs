//! Names the steps of a long story test, so a failure says which step broke rather than only a
//! line deep inside the story.

use std::sync::{Mutex, PoisonError};

/// The story's current step. Mark each step with [`Story::step`]; when the test panics, dropping
/// the story prints `<story> failed in step "<step>"` after the panic message (nextest shows both).
pub struct Story {
    name: &'static str,
    step: Mutex<&'static str>,
}

impl Story {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            step: Mutex::new("setting up"),
        }
    }

    /// Enters the next step.
    pub fn step(&self, step: &'static str) {
        *self.step.lock().unwrap_or_else(PoisonError::into_inner) = step;
    }

    /// The step the story is in.
    pub fn current(&self) -> &'static str {
        *self.step.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Story {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{} failed in step {:?}", self.name, self.current());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_story_remembers_the_step_it_is_in() {
        let story = Story::new("a story");
        assert_eq!(story.current(), "setting up");
        story.step("signing in");
        assert_eq!(story.current(), "signing in");
    }

    #[test]
    fn a_failing_story_still_unwinds_through_its_name() {
        let failed = std::panic::catch_unwind(|| {
            let story = Story::new("a story");
            story.step("the failing step");
            panic!("an assertion failed");
        });
        assert!(failed.is_err());
    }
}
