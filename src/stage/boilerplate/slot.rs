//! Where the boilerplate stage finds learned chrome. A batch run fills it
//! once, after its learning pass; the daemon replaces it at fixed points of
//! its input (every `boilerplate.learn_refresh_articles` inputs), so every
//! article is cleaned with a snapshot that depends on the input order only.
//! Reading it is a read lock and an `Arc` clone per article.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::boilerplate::Chrome;

/// The chrome the stage applies, and whether it observes articles for a
/// learner downstream (the daemon's).
#[derive(Debug, Default)]
pub struct ChromeSlot {
    chrome: RwLock<Option<Arc<Chrome>>>,
    observe: AtomicBool,
}

impl ChromeSlot {
    /// The chrome in place, if any.
    pub fn get(&self) -> Option<Arc<Chrome>> {
        // A poisoned lock still holds a whole `Arc`: writers only swap it.
        let guard = self.chrome.read().unwrap_or_else(|e| e.into_inner());
        guard.clone()
    }

    /// Put `chrome` in place; true when the slot was empty.
    pub fn replace(&self, chrome: Arc<Chrome>) -> bool {
        let mut guard = self.chrome.write().unwrap_or_else(|e| e.into_inner());
        guard.replace(chrome).is_none()
    }

    /// Make the stage attach an [`crate::boilerplate::Observation`] of the
    /// rule-cleaned text to every article it cleans.
    pub fn observe(&self) {
        self.observe.store(true, Ordering::Release);
    }

    /// Whether the stage observes articles.
    pub fn observing(&self) -> bool {
        self.observe.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_snapshot_is_seen_by_later_readers_and_not_by_earlier_holders() {
        let slot = ChromeSlot::default();
        assert!(slot.get().is_none());
        assert!(slot.replace(Arc::new(Chrome::default())));
        let held = slot.get().unwrap();
        let mut learner = crate::boilerplate::Learner::new(Default::default());
        learner.add(crate::boilerplate::Observation {
            source: "a".into(),
            fingerprint: Default::default(),
            lines: vec![],
        });
        let next = Arc::new(learner.chrome());
        assert!(!slot.replace(Arc::clone(&next)));
        assert_eq!(*held, Chrome::default(), "a holder keeps its snapshot");
        assert_eq!(slot.get().as_deref(), Some(&*next));
    }
}
