//! [`Answers`], the engine's input: `(item, worker, label)` triples with every name interned to a
//! dense index, plus [`Label`] and the [`CapacityError`] of a full interner. Reading answers from
//! CSV lives in `csv_input`.

use std::fmt;

use super::interner::Names;

/// One answer: `worker` said `class` for `item`, all as dense indices into an [`Answers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    /// Item index (see [`Answers::item_name`]).
    pub item: u32,
    /// Worker index (see [`Answers::worker_name`]).
    pub worker: u32,
    /// Class index (see [`Answers::class_name`]).
    pub class: u32,
}

/// A set of answers with every name interned to a dense `u32` index (first seen = 0).
///
/// Indices are stable for the lifetime of the value, so callers can key gold answers and look up
/// results by index. Items and workers are only created by [`Answers::push`], so each has at least
/// one label; classes may also be registered without votes via [`Answers::add_class`].
#[derive(Clone, Debug, Default)]
pub struct Answers {
    items: Names,
    workers: Names,
    classes: Names,
    labels: Vec<Label>,
}

/// More than `u32::MAX` distinct items, workers or classes were pushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityError;

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many distinct items, workers or labels (the limit is 4294967295 of each)")
    }
}

impl std::error::Error for CapacityError {}

impl Answers {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one answer, interning the three names.
    pub fn push(&mut self, item: &str, worker: &str, label: &str) -> Result<(), CapacityError> {
        // On overflow an already interned class or item may be left without answers; every method
        // handles that (a class nobody chose; an item with a uniform, unresolved posterior).
        let class = self.classes.intern(label)?;
        let item = self.items.intern(item)?;
        let worker = self.workers.intern(worker)?;
        self.labels.push(Label {
            item,
            worker,
            class,
        });
        Ok(())
    }

    /// Reserves room for `additional` more answers (avoids regrowing a multi-million label vector).
    pub fn reserve(&mut self, additional: usize) {
        self.labels.reserve(additional);
    }

    /// Registers a class that may have no votes (e.g. every option of the task's schema), so that
    /// models know it exists. Returns its index; an existing class keeps its index.
    pub fn add_class(&mut self, label: &str) -> Result<u32, CapacityError> {
        self.classes.intern(label)
    }

    /// Number of distinct items.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Number of distinct workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Number of classes (label values), including ones registered with [`Answers::add_class`].
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// Name of item `i`.
    pub fn item_name(&self, i: u32) -> Option<&str> {
        self.items.get(i)
    }

    /// Name of worker `w`.
    pub fn worker_name(&self, w: u32) -> Option<&str> {
        self.workers.get(w)
    }

    /// Name (label value) of class `c`.
    pub fn class_name(&self, c: u32) -> Option<&str> {
        self.classes.get(c)
    }

    /// Item names in index order.
    pub fn item_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.items.iter()
    }

    /// Worker names in index order.
    pub fn worker_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.workers.iter()
    }

    /// Class names in index order.
    pub fn class_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.classes.iter()
    }

    /// All answers, in the order they were pushed.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// The answers as `(item, rater, class)` triples, the input of the agreement metrics
    /// (`domain::agreement`).
    pub fn triples(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.labels.iter().map(|l| (l.item, l.worker, l.class))
    }

    /// Index of an item name, if it has answers.
    pub fn item_index(&self, name: &str) -> Option<u32> {
        self.items.index(name)
    }

    /// Index of an item name, trying item `hint` first (see `Names::index_near`).
    pub(super) fn item_index_near(&self, name: &str, hint: u32) -> Option<u32> {
        self.items.index_near(name, hint)
    }

    /// Index of a worker name.
    pub fn worker_index(&self, name: &str) -> Option<u32> {
        self.workers.index(name)
    }

    /// Index of a class name.
    pub fn class_index(&self, name: &str) -> Option<u32> {
        self.classes.index(name)
    }

    /// Number of answers.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no answers.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}
