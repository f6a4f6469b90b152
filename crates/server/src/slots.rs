//! [`UserSlots`]: how many expensive requests (previews, detection) each user may have running
//! at once on this server. A slot is given back when its guard is dropped, which also happens
//! when the client leaves and the handler's future is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::error::ApiError;

/// Requests running per user; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct UserSlots {
    per_user: usize,
    running: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl UserSlots {
    pub fn new(per_user: usize) -> Self {
        UserSlots {
            per_user: per_user.max(1),
            running: Arc::default(),
        }
    }

    /// How many one user may have running at once.
    pub fn per_user(&self) -> usize {
        self.per_user
    }

    /// One of `user`'s slots, or a 429 that says why in words.
    pub fn take_or_busy(&self, user: Uuid) -> Result<Slot, ApiError> {
        self.take(user).ok_or_else(|| {
            ApiError::Busy(format!(
                "you already have {} previews or detections running; wait for one of them to \
                 finish, then try again",
                self.per_user
            ))
        })
    }

    /// One of `user`'s slots, or `None` when they are all taken.
    pub fn take(&self, user: Uuid) -> Option<Slot> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let count = running.entry(user).or_default();
        if *count >= self.per_user {
            return None;
        }
        *count += 1;
        Some(Slot {
            user,
            running: Arc::clone(&self.running),
        })
    }
}

/// A taken slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    user: Uuid,
    running: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = running.get_mut(&self.user) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_per_user_and_given_back_on_drop() {
        let slots = UserSlots::new(2);
        let (alice, bob) = (Uuid::now_v7(), Uuid::now_v7());
        let first = slots.take(alice).expect("a first slot");
        let _second = slots.take(alice).expect("a second slot");
        assert!(slots.take(alice).is_none(), "a third is refused");
        let _bobs = slots.take(bob).expect("another user is not affected");
        drop(first);
        assert!(slots.take(alice).is_some(), "a dropped slot is given back");
    }
}
