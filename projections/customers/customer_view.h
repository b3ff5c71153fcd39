// CustomerView: an in-memory view of every customer (the CustomerIndex of lists, the
// AudienceColumns of segments), loaded from one scan of the customers read model when a
// generation serves and then kept current with the customers each committed batch changed.
//
// The load protocol: StartLoad, then Loaded for each stored customer (the loading thread alone
// calls it), then FinishLoad with the scan's outcome. Apply calls that arrive between StartLoad
// and FinishLoad are held and replayed after the scanned customers; before any load they are
// ignored (the store holds those changes and the load reads them). A failed scan breaks the view
// for good: it never holds a guess.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "domain/customer.h"
#include "domain/error.h"
#include "infra/read_store.h"

namespace keel {

class CustomerView {
 public:
  virtual ~CustomerView() = default;
  // `expected_customers`: about how many the scan will find (room to reserve; 0: unknown).
  virtual void StartLoad(size_t expected_customers) = 0;
  virtual void Loaded(const Customer& customer) = 0;
  virtual void FinishLoad(const Status& scan) = 0;
  // The customers a committed batch changed, as they are now. Thread-safe.
  virtual void Apply(const std::vector<Customer>& changed) = 0;
};

// Loads every view from one scan of the store (each customer is read and parsed once), and
// returns the scan's outcome. The views are told how many customers the projection counted.
Status LoadCustomerViews(ReadStore& store, std::span<CustomerView* const> views);

}  // namespace keel
