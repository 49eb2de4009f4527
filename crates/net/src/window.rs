//! Bounded sliding windows that detections keep per source or per target.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::Duration;

use safecare_capture::Timestamp;

/// Items seen within a time window, oldest first, at most `cap` of them.
#[derive(Debug, Clone)]
pub(crate) struct Recent<T> {
    items: VecDeque<(Timestamp, T)>,
    cap: usize,
}

impl<T> Recent<T> {
    pub fn new(cap: usize) -> Self {
        Recent {
            items: VecDeque::new(),
            cap,
        }
    }

    /// Adds an item, dropping those older than `window` and the oldest past the cap.
    pub fn push(&mut self, ts: Timestamp, item: T, window: Duration) {
        self.prune(ts, window);
        if self.items.len() >= self.cap {
            self.items.pop_front();
        }
        self.items.push_back((ts, item));
    }

    /// Drops items older than `window` before `now`.
    pub fn prune(&mut self, now: Timestamp, window: Duration) {
        while self
            .items
            .front()
            .is_some_and(|(ts, _)| now.since(*ts) > window)
        {
            self.items.pop_front();
        }
    }

    /// Items newer than `window` before `now`.
    pub fn within(&self, now: Timestamp, window: Duration) -> impl Iterator<Item = &T> {
        self.items
            .iter()
            .filter(move |(ts, _)| now.since(*ts) <= window)
            .map(|(_, item)| item)
    }

    /// Time of the newest item.
    pub fn newest(&self) -> Option<Timestamp> {
        self.items.back().map(|(ts, _)| *ts)
    }
}

/// One [`Recent`] per key, with at most `max_keys` keys: past that, keys idle longer
/// than the window go first, then the least recently active half.
#[derive(Debug)]
pub(crate) struct KeyedRecent<K, T> {
    map: HashMap<K, Recent<T>>,
    per_key: usize,
    max_keys: usize,
}

impl<K: Hash + Eq + Clone, T> KeyedRecent<K, T> {
    pub fn new(per_key: usize, max_keys: usize) -> Self {
        KeyedRecent {
            map: HashMap::new(),
            per_key,
            max_keys,
        }
    }

    /// Adds an item under `key` and returns that key's window.
    pub fn push(&mut self, key: K, ts: Timestamp, item: T, window: Duration) -> &Recent<T> {
        if !self.map.contains_key(&key) && self.map.len() >= self.max_keys {
            self.shrink(ts, window);
        }
        let per_key = self.per_key;
        let recent = self.map.entry(key).or_insert_with(|| Recent::new(per_key));
        recent.push(ts, item, window);
        recent
    }

    pub fn get(&self, key: &K) -> Option<&Recent<T>> {
        self.map.get(key)
    }

    fn shrink(&mut self, now: Timestamp, window: Duration) {
        self.map
            .retain(|_, r| r.newest().is_some_and(|ts| now.since(ts) <= window));
        if self.map.len() < self.max_keys {
            return;
        }
        let mut ages: Vec<Timestamp> = self.map.values().filter_map(Recent::newest).collect();
        ages.sort_unstable();
        let cutoff = ages.get(ages.len() / 2).copied().unwrap_or_default();
        self.map
            .retain(|_, r| r.newest().is_some_and(|ts| ts > cutoff));
    }
}

/// Remembers which keys were already reported, so each is reported once per `quiet`
/// period; bounded like [`KeyedRecent`].
#[derive(Debug)]
pub(crate) struct Cooldown<K> {
    last: HashMap<K, Timestamp>,
    quiet: Duration,
    max_keys: usize,
}

impl<K: Hash + Eq> Cooldown<K> {
    pub fn new(quiet: Duration, max_keys: usize) -> Self {
        Cooldown {
            last: HashMap::new(),
            quiet,
            max_keys,
        }
    }

    /// Whether `key` was reported within the quiet period (nothing is remembered).
    pub fn is_quiet(&self, key: &K, now: Timestamp) -> bool {
        self.last
            .get(key)
            .is_some_and(|last| now.since(*last) <= self.quiet)
    }

    /// True (and remembered) when `key` was not reported within the quiet period.
    pub fn ready(&mut self, key: K, now: Timestamp) -> bool {
        if let Some(last) = self.last.get(&key)
            && now.since(*last) <= self.quiet
        {
            return false;
        }
        if self.last.len() >= self.max_keys {
            let quiet = self.quiet;
            self.last.retain(|_, ts| now.since(*ts) <= quiet);
        }
        if self.last.len() < self.max_keys {
            self.last.insert(key, now);
        }
        true
    }
}
