# The public directory (crates/directory): the /annuaire search page and a professional's page.
dir-title = Health directory
dir-intro = Find a health professional, their RPPS number and where they practise. Only the registry's public data is shown.
dir-form-label = Search for a health professional
dir-name = Name
dir-name-hint = All or part of the name; accents and capitals are ignored.
dir-profession = Profession
dir-profession-any = All professions
dir-place = Place of practice
dir-place-hint = Département (75, 2A), postcode or town.
dir-number = RPPS or ADELI number
dir-number-hint = 11 digits for RPPS, 9 for ADELI.
dir-search = Search
dir-empty = Give at least a name, a profession, a place or a number.
dir-bad-number = An RPPS number has 11 digits, an ADELI number 9.
dir-results = { $count ->
    [0] No result
    [one] 1 result
   *[other] { $count } results
}
# COUNT_CAP of crates/directory/src/page.rs
dir-results-many = More than 100 results: narrow the search (given name, profession, place)
dir-none = No professional matches this search. Check the spelling, or search for part of the name only.
dir-inactive = No current activity in the registry.
dir-rpps = RPPS no.
dir-adeli = ADELI no.
dir-copy = Copy
dir-copied = Copied
dir-next = Next results
dir-api-link = These results in the directory's FHIR API
dir-api-resource = This entry in the directory's FHIR API
dir-back = Back to the search
dir-professions = Professions
dir-know-how = Know-how
dir-places = Places of practice
dir-no-place = No public place of practice.
dir-not-found = No professional with this number in the directory.
dir-unavailable = The directory is unavailable for a moment. Try again shortly.
