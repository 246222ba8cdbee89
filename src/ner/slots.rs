//! Per-document facts keyed by small integers instead of hashes.
//!
//! Every folded word form gets a *slot*: a dense `u32` that names it. The
//! tagging path takes slots from its word-type cache (so a token's slot costs
//! nothing once its type is cached); the training path numbers the forms of
//! each document as it extracts them. A [`SlotMap`] then holds one value per
//! slot in a plain vector, and forgets a whole document in O(1) by moving to
//! a new generation, so the document-level passes index arrays where they
//! used to probe hash maps for every token.

use super::hash::HashKeyMap;

/// Values by slot, with O(1) clearing. A slot has a value only if it was
/// written since the last [`SlotMap::clear`].
#[derive(Debug, Clone)]
pub(crate) struct SlotMap<V> {
    /// Per slot: the generation that wrote it, and its value.
    cells: Vec<(u32, V)>,
    /// The current generation (never 0, which marks an unwritten cell).
    generation: u32,
}

impl<V> Default for SlotMap<V> {
    fn default() -> Self {
        SlotMap {
            cells: Vec::new(),
            generation: 1,
        }
    }
}

impl<V: Copy + Default> SlotMap<V> {
    /// Forget every value.
    pub(crate) fn clear(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // After 2^32 clears: stamps could alias, so start over for real.
            self.cells.iter_mut().for_each(|c| c.0 = 0);
            self.generation = 1;
        }
    }

    /// The value of `slot`, if written since the last clear.
    #[inline]
    pub(crate) fn get(&self, slot: u32) -> Option<&V> {
        match self.cells.get(slot as usize) {
            Some((g, v)) if *g == self.generation => Some(v),
            _ => None,
        }
    }

    /// The value of `slot`, set to `init` first if it has none.
    #[inline]
    pub(crate) fn get_or_insert(&mut self, slot: u32, init: V) -> &mut V {
        let k = slot as usize;
        if k >= self.cells.len() {
            self.cells.resize(k + 1, (0, V::default()));
        }
        let cell = &mut self.cells[k];
        if cell.0 != self.generation {
            *cell = (self.generation, init);
        }
        &mut cell.1
    }
}

/// Numbers folded word hashes densely in order of first sight.
#[derive(Debug, Default, Clone)]
pub(crate) struct SlotNumbers {
    index: HashKeyMap<u32>,
}

impl SlotNumbers {
    /// The slot of folded-word hash `lower`, a new one if it is new.
    pub(crate) fn slot(&mut self, lower: u64) -> u32 {
        let next = self.index.len() as u32;
        *self.index.entry(lower).or_insert(next)
    }

    /// Forget every number (slots are handed out from 0 again).
    pub(crate) fn clear(&mut self) {
        self.index.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_last_until_cleared() {
        let mut m: SlotMap<u8> = SlotMap::default();
        assert_eq!(m.get(3), None);
        *m.get_or_insert(3, 0) |= 2;
        *m.get_or_insert(3, 0) |= 1;
        assert_eq!(m.get(3), Some(&3));
        assert_eq!(m.get(2), None);
        m.clear();
        assert_eq!(m.get(3), None);
        assert_eq!(*m.get_or_insert(3, 7), 7);
    }

    #[test]
    fn generation_wrap_forgets_old_values() {
        let mut m: SlotMap<u8> = SlotMap::default();
        *m.get_or_insert(0, 5) = 5;
        m.generation = u32::MAX;
        *m.get_or_insert(1, 9) = 9;
        m.clear();
        assert_eq!(m.get(0), None);
        assert_eq!(m.get(1), None);
        assert_eq!(m.generation, 1);
    }

    #[test]
    fn numbers_are_dense_and_stable() {
        let mut n = SlotNumbers::default();
        assert_eq!(n.slot(99), 0);
        assert_eq!(n.slot(7), 1);
        assert_eq!(n.slot(99), 0);
        assert_eq!(n.slot(5), 2);
        n.clear();
        assert_eq!(n.slot(7), 0);
    }
}
