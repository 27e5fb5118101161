//! The demo stand-in of FranceConnect (`serve --demo` without `[franceconnect]`): see
//! README. Not FranceConnect: a minimal provider served by caducee itself under
//! `/dev/franceconnect`, in demo mode only.
