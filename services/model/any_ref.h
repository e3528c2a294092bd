// Family-neutral handles on family values. The core moves workloads, systems
// and observers of every family without knowing their types; the family's
// models get them back through a checked downcast (As<T>(), null for any
// other type), so a model handed another family's workload fails cleanly
// instead of misreading memory.
#pragma once

#include <cstdint>
#include <memory>
#include <typeinfo>
#include <utility>

namespace kreplay::model {

// A non-owning reference to a const value of some family type.
class AnyRef {
 public:
  AnyRef() = default;
  template <typename T>
  static AnyRef Of(const T* p) {
    AnyRef r;
    if (p) r.type_ = &typeid(T);
    r.ptr_ = p;
    return r;
  }
  // The value if it is a T, else null.
  template <typename T>
  const T* As() const {
    return type_ && *type_ == typeid(T) ? static_cast<const T*>(ptr_) : nullptr;
  }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  const std::type_info* type_ = nullptr;
  const void* ptr_ = nullptr;
};

// The same for a mutable value (observers).
class AnyMutRef {
 public:
  AnyMutRef() = default;
  template <typename T>
  static AnyMutRef Of(T* p) {
    AnyMutRef r;
    if (p) r.type_ = &typeid(T);
    r.ptr_ = p;
    return r;
  }
  template <typename T>
  T* As() const {
    return type_ && *type_ == typeid(T) ? static_cast<T*>(ptr_) : nullptr;
  }
  explicit operator bool() const { return ptr_ != nullptr; }

 private:
  const std::type_info* type_ = nullptr;
  void* ptr_ = nullptr;
};

// An owned value of some family type (a materialised workload, a decoded
// system), shared and immutable: one workload serves every run that names it
// (worker caches, the local run). Copies share the value.
class AnyValue {
 public:
  AnyValue() = default;
  // `approx_bytes`: the memory it holds, for caches.
  template <typename T>
  static AnyValue Make(T value, uint64_t approx_bytes) {
    auto held = std::make_shared<const T>(std::move(value));
    AnyValue w;
    w.ref_ = AnyRef::Of(held.get());
    w.hold_ = std::move(held);
    w.bytes_ = approx_bytes;
    return w;
  }
  bool empty() const { return !hold_; }
  AnyRef ref() const { return ref_; }
  template <typename T>
  const T* As() const {
    return ref_.As<T>();
  }
  uint64_t ApproxBytes() const { return bytes_; }

 private:
  std::shared_ptr<const void> hold_;
  AnyRef ref_;
  uint64_t bytes_ = 0;
};

}  // namespace kreplay::model
