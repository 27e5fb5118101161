# The page kit: layout and components. French is the source language.
kit-language-name = Français
kit-language-nav = Langue
kit-skip-link = Aller au contenu
kit-footer = caducee — identité des professionnels de santé
kit-error-summary-title = Le formulaire contient des erreurs
kit-steps-position = Étape { $current } sur { $total }
kit-steps-next = Étape suivante : { $title }
kit-password-strength = Sécurité du mot de passe :
kit-password-weak = Faible
kit-password-medium = Moyen
kit-password-strong = Fort
kit-rule-met = respectée
kit-rule-unmet = non respectée
kit-terms-read-hint = Faites défiler les conditions jusqu'en bas pour pouvoir les accepter.
kit-terms-read-done = Vous avez lu les conditions jusqu'en bas : vous pouvez les accepter.
# A delay in words ($unit: seconds, minutes, hours, days), given to texts as $delay.
kit-delay = { $unit ->
    [days] { $n ->
        [one] { $n } jour
       *[other] { $n } jours
    }
    [hours] { $n ->
        [one] { $n } heure
       *[other] { $n } heures
    }
    [minutes] { $n ->
        [one] { $n } minute
       *[other] { $n } minutes
    }
   *[seconds] { $n ->
        [one] { $n } seconde
       *[other] { $n } secondes
    }
}
