# The public directory (crates/directory): the /annuaire search page and a professional's page.
dir-title = Annuaire Santé
dir-intro = Retrouvez un professionnel de santé, son numéro RPPS et ses lieux d'exercice. Seules les données publiques du répertoire sont affichées.
dir-form-label = Rechercher un professionnel de santé
dir-name = Nom, prénom
dir-name-hint = Tout ou partie du nom ; les accents et les majuscules sont ignorés.
dir-profession = Profession
dir-profession-any = Toutes les professions
dir-place = Lieu d'exercice
dir-place-hint = Département (75, 2A), code postal ou ville.
dir-number = Numéro RPPS ou ADELI
dir-number-hint = 11 chiffres pour le RPPS, 9 pour l'ADELI.
dir-search = Rechercher
dir-empty = Indiquez au moins un nom, une profession, un lieu ou un numéro.
dir-bad-number = Le numéro RPPS compte 11 chiffres, le numéro ADELI 9 chiffres.
dir-results = { $count ->
    [0] Aucun résultat
    [one] 1 résultat
   *[other] { $count } résultats
}
# COUNT_CAP of crates/directory/src/page.rs
dir-results-many = Plus de 100 résultats : précisez la recherche (prénom, profession, lieu)
dir-none = Aucun professionnel ne correspond à cette recherche. Vérifiez l'orthographe, ou cherchez une partie du nom seulement.
dir-inactive = Aucune activité en cours dans le répertoire.
dir-rpps = N° RPPS
dir-adeli = N° ADELI
dir-copy = Copier
dir-copied = Copié
dir-next = Résultats suivants
dir-api-link = Ces résultats dans l'API FHIR de l'annuaire
dir-api-resource = Cette fiche dans l'API FHIR de l'annuaire
dir-back = Retour à la recherche
dir-professions = Professions
dir-know-how = Savoir-faire
dir-places = Lieux d'exercice
dir-no-place = Aucun lieu d'exercice public.
dir-not-found = Aucun professionnel de ce numéro dans l'annuaire.
dir-unavailable = L'annuaire est momentanément indisponible. Réessayez dans quelques instants.
