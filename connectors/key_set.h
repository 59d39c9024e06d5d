// connectors/key_set.h: an insert-only set of byte strings, for a state batch's accepted event
// keys. The keys lie back to back in one buffer and the table holds (hash, where) pairs, open
// addressing with linear probing: a lookup that misses (most of them: most events are new)
// reads one slot of a contiguous array, where a std::unordered_set reads its bucket and then
// a node elsewhere in memory; an insert allocates nothing but the buffers' growth.
//   KeySet keys;
//   if (keys.insert(key)) ...;            // false: it was there
//   keys.contains(key);
//   keys.for_each([](std::string_view k) { ... });   // insertion order
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace paydist {

class KeySet {
 public:
  bool contains(std::string_view key) const {
    if (slots_.empty()) return false;
    return slots_[probe(key, hash_of(key))].hash != 0;
  }

  // Adds `key`; false when it was already there. At most 2^31 keys (a batch holds far fewer):
  // `order_` keeps slot numbers in 32 bits.
  bool insert(std::string_view key) {
    if ((size() + 1) * 2 > slots_.size()) grow();
    const std::uint64_t h = hash_of(key);
    const std::size_t i = probe(key, h);
    if (slots_[i].hash != 0) return false;
    slots_[i] = Slot{h, bytes_.size(), key.size()};
    bytes_.append(key);
    order_.push_back(static_cast<std::uint32_t>(i));
    return true;
  }

  std::size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }
  std::size_t bytes() const { return bytes_.size(); }  // of all the keys together

  void clear() {
    slots_.clear();
    bytes_.clear();
    order_.clear();
  }

  template <class F>
  void for_each(F&& f) const {
    for (std::uint32_t i : order_) f(view(slots_[i]));
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;  // 0: empty (hash_of never gives 0)
    std::size_t begin = 0;
    std::size_t size = 0;
  };

  static std::uint64_t hash_of(std::string_view key) {
    const std::uint64_t h = std::hash<std::string_view>{}(key);
    return h == 0 ? 1 : h;
  }
  std::size_t mask() const { return slots_.size() - 1; }
  // The slot holding `key`, or the empty slot where it would go (the table is never full).
  std::size_t probe(std::string_view key, std::uint64_t h) const {
    std::size_t i = h & mask();
    while (slots_[i].hash != 0 && !(slots_[i].hash == h && view(slots_[i]) == key)) i = (i + 1) & mask();
    return i;
  }
  std::string_view view(const Slot& s) const { return std::string_view{bytes_}.substr(s.begin, s.size); }

  // Doubles the table (at most half full, so probes stay short) and places each slot again by
  // its stored hash; `order_` follows.
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    for (std::uint32_t& at : order_) {
      const Slot& s = old[at];
      std::size_t i = s.hash & mask();
      while (slots_[i].hash != 0) i = (i + 1) & mask();
      slots_[i] = s;
      at = static_cast<std::uint32_t>(i);
    }
  }

  std::vector<Slot> slots_;
  std::string bytes_;
  std::vector<std::uint32_t> order_;  // slot of each key, in insertion order (so its size is the count)
};

}  // namespace paydist
