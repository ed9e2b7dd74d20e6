//! The string interner behind [`Answers`](super::Answers): item, worker and class names stored once
//! in one arena string and handed out as dense `u32` ids in first-seen order.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use super::CapacityError;

/// An interner that stores every name once, in one arena string.
///
/// A million item names as `Vec<String>` plus `HashMap<String, u32>` cost two heap strings and a
/// map entry each (~100 bytes per name, more while the map doubles). Here a name costs its bytes,
/// one offset and, in a hash table of `u64` slots kept at most half full, 16–32 bytes: for 1M
/// names about 40 MB instead of 100+. The table hashes names with a randomly seeded SipHash
/// (`RandomState`), so crafted names cannot force collisions; ids are assigned in first-seen order
/// regardless.
///
/// Each slot keeps 32 bits of its name's hash next to the id. A probe compares those first and
/// reads a name's text only when they match, so looking up a new name costs one random memory
/// access instead of one per occupied slot passed (interning a million item names was the read
/// path's largest cost), and growing the table rehashes nothing.
#[derive(Clone, Debug, Default)]
pub(super) struct Names {
    text: String,
    /// Name `i` is `text[ends[i - 1]..ends[i]]` (with `ends[-1]` = 0).
    ends: Vec<usize>,
    /// Open addressing with linear probing: `hash << 32 | (id + 1)`, or 0 for an empty slot
    /// (`hash` is the name's 32-bit hash, which also gives its home slot). Power-of-two length.
    slots: Vec<u64>,
    seed: RandomState,
    /// The id [`Names::intern`] returned last: files list an item's answers together, so the
    /// next name is often the same one, found without hashing or probing.
    last: Option<u32>,
}

impl Names {
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(super) fn get(&self, id: u32) -> Option<&str> {
        let i = id as usize;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    fn hash(&self, name: &str) -> u32 {
        // The low half of SipHash's output: as good as any 32 bits of it.
        self.seed.hash_one(name) as u32
    }

    /// The slot holding `name` (whose hash is `hash`), or the empty slot where it would go.
    /// Requires a non-empty table with at least one empty slot (guaranteed by the half-full
    /// rule), so the probe always ends.
    fn probe(&self, name: &str, hash: u32) -> usize {
        let mask = self.slots.len() - 1;
        let mut pos = hash as usize & mask;
        loop {
            let slot = self.slots[pos];
            if slot == 0 || ((slot >> 32) as u32 == hash && self.get(slot as u32 - 1) == Some(name))
            {
                return pos;
            }
            pos = (pos + 1) & mask;
        }
    }

    pub(super) fn index(&self, name: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        (self.slots[self.probe(name, self.hash(name))] as u32).checked_sub(1)
    }

    /// The index of `name`, trying `hint` first: reading names in the order they were interned
    /// (a truth file listing items as the answers did) then walks the arena in order instead of
    /// probing the table at random.
    pub(super) fn index_near(&self, name: &str, hint: u32) -> Option<u32> {
        if self.get(hint) == Some(name) {
            return Some(hint);
        }
        self.index(name)
    }

    pub(super) fn intern(&mut self, name: &str) -> Result<u32, CapacityError> {
        if let Some(last) = self.last.filter(|&id| self.get(id) == Some(name)) {
            return Ok(last);
        }
        let id = self.intern_new(name)?;
        self.last = Some(id);
        Ok(id)
    }

    fn intern_new(&mut self, name: &str) -> Result<u32, CapacityError> {
        let hash = self.hash(name);
        if !self.slots.is_empty() {
            let slot = self.slots[self.probe(name, hash)];
            if slot != 0 {
                return Ok(slot as u32 - 1);
            }
        }
        // `id + 1` must fit a slot's low half, hence `u32::MAX - 1` names at most.
        let id = u32::try_from(self.ends.len())
            .ok()
            .filter(|&id| id < u32::MAX)
            .ok_or(CapacityError)?;
        if (self.ends.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.text.push_str(name);
        self.ends.push(self.text.len());
        let pos = self.probe(name, hash);
        self.slots[pos] = u64::from(hash) << 32 | u64::from(id + 1);
        Ok(id)
    }

    /// Doubles the table and re-inserts every slot at its home position (from the hash the slot
    /// keeps: no name is read or rehashed).
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let old = std::mem::replace(&mut self.slots, vec![0; size]);
        let mask = size - 1;
        for slot in old.into_iter().filter(|&s| s != 0) {
            let mut pos = (slot >> 32) as usize & mask;
            while self.slots[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            self.slots[pos] = slot;
        }
    }

    pub(super) fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.ends.len()).map(|i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.text[start..self.ends[i]]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interner() {
        let mut names = Names::default();
        assert_eq!(names.index("x"), None);
        for i in 0..10_000u32 {
            assert_eq!(names.intern(&format!("n{i}")), Ok(i));
        }
        assert_eq!(names.intern("n42"), Ok(42));
        assert_eq!(names.intern(""), Ok(10_000));
        assert_eq!(
            (names.index("n9999"), names.index(""), names.index("nope")),
            (Some(9999), Some(10_000), None)
        );
        assert_eq!(names.get(7), Some("n7"));
        assert_eq!(names.intern("n7"), Ok(7));
        assert_eq!(names.intern("n7"), Ok(7));
        assert_eq!(names.intern("n8"), Ok(8));
        assert_eq!(
            (names.index_near("n8", 8), names.index_near("n8", 3)),
            (Some(8), Some(8))
        );
        assert_eq!(names.index_near("nope", 99_999), None);
        assert_eq!(names.get(10_001), None);
        assert_eq!(names.iter().len(), 10_001);
        assert!(names.slots.iter().filter(|&&s| s != 0).count() * 2 <= names.slots.len());
    }
}
