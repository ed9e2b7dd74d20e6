//! The string interner behind [`Answers`](super::Answers): item, worker and class names stored once
//! in one arena string and handed out as dense `u32` ids in first-seen order.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

use super::CapacityError;

/// An interner that stores every name once, in one arena string.
///
/// A million item names as `Vec<String>` plus `HashMap<String, u32>` cost two heap strings and a
/// map entry each (~100 bytes per name, more while the map doubles). Here a name costs its bytes,
/// one offset and, in a hash table of plain `u32` slots kept at most half full, 4–8 bytes: for 1M
/// names about 30 MB instead of 100+. The table hashes names with a randomly seeded SipHash
/// (`RandomState`), so crafted names cannot force collisions; ids are assigned in first-seen order
/// regardless.
#[derive(Clone, Debug, Default)]
pub(super) struct Names {
    text: String,
    /// Name `i` is `text[ends[i - 1]..ends[i]]` (with `ends[-1]` = 0).
    ends: Vec<usize>,
    /// Open addressing with linear probing: `id + 1`, or 0 for an empty slot. Power-of-two length.
    slots: Vec<u32>,
    seed: RandomState,
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

    /// The slot holding `name`, or the empty slot where it would go. Requires a non-empty table
    /// with at least one empty slot (guaranteed by the half-full rule), so the probe always ends.
    fn probe(&self, name: &str) -> usize {
        let mask = self.slots.len() - 1;
        let mut pos = self.seed.hash_one(name) as usize & mask;
        loop {
            let slot = self.slots[pos];
            if slot == 0 || self.get(slot - 1) == Some(name) {
                return pos;
            }
            pos = (pos + 1) & mask;
        }
    }

    pub(super) fn index(&self, name: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.slots[self.probe(name)].checked_sub(1)
    }

    pub(super) fn intern(&mut self, name: &str) -> Result<u32, CapacityError> {
        if let Some(id) = self.index(name) {
            return Ok(id);
        }
        // `id + 1` must fit a slot, hence `u32::MAX - 1` names at most.
        let id = u32::try_from(self.ends.len())
            .ok()
            .filter(|&id| id < u32::MAX)
            .ok_or(CapacityError)?;
        if (self.ends.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.text.push_str(name);
        self.ends.push(self.text.len());
        let pos = self.probe(name);
        self.slots[pos] = id + 1;
        Ok(id)
    }

    /// Doubles the table and re-inserts every name (hashes are recomputed from the arena rather
    /// than stored, which would cost 8 more bytes per name).
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        self.slots = vec![0; size];
        for id in 0..self.ends.len() as u32 {
            if let Some(name) = self.get(id) {
                let pos = self.probe(name);
                self.slots[pos] = id + 1;
            }
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
        assert_eq!(names.get(10_001), None);
        assert_eq!(names.iter().len(), 10_001);
        assert!(names.slots.iter().filter(|&&s| s != 0).count() * 2 <= names.slots.len());
    }
}
