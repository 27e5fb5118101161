# L'espace des agences régionales de santé (/ars, REG-11).
ars-name = Espace ARS
ars-back-home = Retour aux files de traitement
ars-back-record = Retour à la fiche du professionnel
ars-request-id = Référence de l'incident : { $id }
ars-csrf-title = Formulaire expiré
ars-csrf-text = Ce formulaire n'a pas été envoyé depuis cette page de l'espace ARS, ou il a expiré. Rechargez la page et recommencez.
ars-not-found-title = Introuvable
ars-not-found-text = Cet élément n'existe pas ou ne relève pas de vos départements. Revenez aux files de traitement.
ars-age-minutes = il y a { $n ->
    [0] moins d'une minute
    [one] { $n } minute
   *[other] { $n } minutes
}
ars-age-hours = il y a { $n ->
    [one] { $n } heure
   *[other] { $n } heures
}
ars-age-days = il y a { $n ->
    [one] { $n } jour
   *[other] { $n } jours
}

# Connexion
ars-login-title = Connexion à l'espace ARS
ars-login-intro = Réservé aux agents des agences régionales de santé. Connectez-vous avec votre adresse e-mail et votre mot de passe, puis le code de votre application d'authentification.
ars-login-email = Adresse e-mail
ars-login-password = Mot de passe
ars-login-submit = Se connecter
ars-login-missing = Saisissez votre adresse e-mail et votre mot de passe.
ars-login-refused = Adresse e-mail ou mot de passe incorrect. Vérifiez votre saisie et recommencez.
ars-login-throttled = Trop de tentatives infructueuses. Réessayez dans { $minutes ->
    [one] { $minutes } minute
   *[other] { $minutes } minutes
}.
ars-logged-out = Vous êtes déconnecté de l'espace ARS.
ars-logout = Se déconnecter
ars-nav-who = { $name } — départements { $departments }
ars-code-title = Code de vérification
ars-code-intro = Ouvrez votre application d'authentification et saisissez le code à 6 chiffres affiché pour « caducee ARS ».
ars-code-label = Code à 6 chiffres
ars-code-hint = Le code change toutes les 30 secondes. Un code déjà utilisé ne peut pas l'être une seconde fois : attendez le suivant.
ars-code-submit = Valider
ars-code-empty = Saisissez le code à 6 chiffres de votre application d'authentification.
ars-code-wrong = Ce code n'est pas valide ou a déjà été utilisé. Saisissez le code affiché actuellement par votre application.
ars-code-restart = Recommencer la connexion

# Enrôlement
ars-enrol-title = Activer votre accès à l'espace ARS
ars-enrol-intro = Ce lien d'activation est valable 24 heures et ne sert qu'une fois.
ars-enrol-needs = Munissez-vous de votre téléphone avec une application d'authentification (par exemple FreeOTP, Aegis ou Google Authenticator) : vous choisirez un mot de passe, puis vous associerez l'application à votre compte.
ars-enrol-start = Commencer l'activation
ars-enrol-invalid-title = Lien d'activation invalide
ars-enrol-invalid-text = Ce lien d'activation a déjà été utilisé, a expiré (24 heures) ou n'existe pas. Demandez un nouveau lien à l'administrateur de l'espace ARS.
ars-enrol-password-title = Choisissez votre mot de passe
ars-enrol-password-intro = Votre mot de passe protège l'accès aux données des professionnels de vos départements : choisissez-le long et difficile à deviner.
ars-enrol-password-label = Mot de passe
ars-enrol-password-confirm = Confirmez le mot de passe
ars-enrol-continue = Continuer
ars-enrol-totp-title = Associez votre application d'authentification
ars-enrol-totp-intro = Scannez ce QR code avec votre application d'authentification, ou saisissez-y la clé ci-dessous. Puis saisissez le code à 6 chiffres qu'elle affiche.
ars-enrol-totp-qr-alt = QR code à scanner avec votre application d'authentification
ars-enrol-totp-secret = Clé à saisir dans l'application (si vous ne pouvez pas scanner)
ars-enrol-totp-account = Compte affiché par l'application
ars-enrol-finish = Terminer l'activation
ars-enrolled = Votre accès est activé. À chaque connexion, votre mot de passe puis le code de votre application vous seront demandés.

# Files de traitement
ars-home-title = Files de traitement
ars-queue-anomalies = Signalements d'anomalie
ars-queue-empty = Aucun élément en attente pour vos départements.
ars-item-received = Reçu { $age } — département { $department }
ars-anomaly-item = { $field } — { $name }
ars-anomaly-assignee = Pris en charge par { $agent }
ars-anomaly-state-received = Reçu, à prendre en charge
ars-anomaly-state-in-review = En cours de traitement
ars-anomaly-state-corrected = Corrigé
ars-anomaly-state-rejected = Rejeté
ars-search-title = Rechercher un professionnel
ars-search-label = Numéro RPPS ou ADELI
ars-search-hint = 11 chiffres pour un numéro RPPS, par exemple 19999900012.
ars-search-submit = Ouvrir la fiche

# Signalement
ars-anomaly-title = Signalement d'anomalie
ars-anomaly-details = Le signalement
ars-field-professional = Professionnel
ars-field-department = Département
ars-field-state = État
ars-field-received = Reçu le
ars-anomaly-field = Donnée concernée
ars-anomaly-wrong = Ce qui est erroné
ars-anomaly-correct = Ce qui est juste, selon le professionnel
ars-anomaly-portal = Portail d'origine
ars-open-record = Ouvrir la fiche du professionnel
ars-anomaly-work = Traitement
ars-anomaly-claim-intro = Prenez en charge ce signalement pour le traiter : les autres agents verront que vous vous en occupez.
ars-anomaly-claim = Prendre en charge
ars-anomaly-claimed = Vous avez pris en charge ce signalement.
ars-anomaly-closed = Ce signalement est traité.
ars-anomaly-moved = Ce signalement a été pris en charge ou traité entretemps par un autre agent.
ars-anomaly-decide-corrected = La donnée a été corrigée
ars-anomaly-decide-rejected = Le signalement est rejeté (la donnée du répertoire est juste)
ars-decision-legend = Votre décision
ars-decision-reason = Motif
ars-decision-reason-hint = Obligatoire en cas de rejet : il est conservé dans l'historique.
ars-decision-submit = Enregistrer la décision
ars-decision-missing = Choisissez votre décision.
ars-decision-reason-missing = Indiquez le motif du rejet.
ars-decision-reason-long = Le motif ne doit pas dépasser 2000 caractères.
ars-decision-saved = Votre décision est enregistrée.
ars-history = Historique

# Fiche d'un professionnel
ars-record-identity = Identité
ars-record-rpps = Numéro RPPS
ars-record-idnat = Identifiant national (idNat_PS)
ars-record-birth-name = Nom de naissance
ars-record-birth-date = Date de naissance
ars-record-professions = Professions
ars-record-activities = Activités
ars-record-active = En cours
ars-record-ended = Terminée
ars-record-no-activity = Aucune activité enregistrée.
ars-record-contact = Coordonnées de contact
ars-record-anomalies = Signalements d'anomalie
ars-record-anomaly-meta = Déposé sur le portail { $portal } { $age } — { $state }
ars-record-evidence = Pièces justificatives vues par l'ARS
ars-record-none = Rien à afficher.

# Coordonnées pour le compte du professionnel
ars-contact-open = Renseigner les coordonnées pour le compte du professionnel
ars-contact-title = Coordonnées de { $name }
ars-contact-intro = Le professionnel n'a pas de carte CPS et ne peut pas activer sa e-CPS : l'ARS peut intervenir pour lui permettre l'accès au portail. Saisissez les coordonnées qu'il vous a transmises et joignez la copie de sa pièce d'identité que vous avez vérifiée. Les coordonnées sont enregistrées immédiatement.
ars-contact-email = Adresse e-mail personnelle
ars-contact-mobile = Numéro de téléphone portable
ars-contact-mobile-hint = Par exemple 06 12 34 56 78 ou +33 6 12 34 56 78.
ars-contact-address = Adresse de correspondance (domicile)
ars-contact-address-hint = Facultatif : l'adresse où la carte CPS est envoyée. Laissez vide pour garder l'adresse actuelle.
ars-contact-evidence = Copie de la pièce d'identité (carte d'identité ou passeport)
ars-contact-evidence-hint = Fichier PDF, JPEG ou PNG de 5 Mo au plus.
ars-contact-submit = Enregistrer les coordonnées
ars-contact-saved = Les coordonnées sont enregistrées : le professionnel peut activer sa e-CPS.
ars-error-email-empty = Saisissez l'adresse e-mail du professionnel.
ars-error-email = Saisissez une adresse e-mail valide, par exemple prenom.nom@exemple.fr.
ars-error-mobile = Saisissez un numéro de portable au format 06 12 34 56 78 ou +33 6 12 34 56 78.
ars-error-address = L'adresse ne doit pas contenir de caractère de contrôle.
ars-error-evidence-missing = Joignez la copie de la pièce d'identité que vous avez vérifiée.
ars-error-evidence-type = Le fichier doit être un PDF, une image JPEG ou PNG.
ars-error-evidence-large = Le fichier ne doit pas dépasser 5 Mo.

# Demandes de modification et premiers enregistrements
ars-queue-requests = Demandes de modification
ars-queue-registrations = Premiers enregistrements
ars-kind-new-activity = Nouvelle activité
ars-kind-cease-activity = Cessation d'activité
ars-kind-new-profession = Nouvelle profession
ars-kind-contact = Coordonnées de contact
ars-kind-exercise-name = Nom d'exercice
ars-state-draft = Brouillon
ars-state-submitted = À traiter
ars-state-approved = Validée, en attente du délai de prise en compte
ars-state-rejected = Refusée
ars-state-applied = Prise en compte dans le répertoire
ars-request-details = La demande
ars-request-change = Modification demandée
ars-request-before-after = { $before } → { $after }
ars-request-decide-intro = Vérifiez la modification demandée, puis validez-la ou refusez-la. Une demande validée est prise en compte dans le répertoire après le délai de propagation ; le professionnel reçoit la décision par e-mail.
ars-request-moved = Cette demande a été traitée entretemps par un autre agent.
ars-decision-approve = Valider
ars-decision-reject = Refuser
ars-decision-reason-hint-sent = Obligatoire en cas de refus : il est envoyé au professionnel.
ars-decision-saved-sent = Votre décision est enregistrée ; le professionnel la reçoit par e-mail.
ars-decided-by = Décision prise par
ars-decided-at = Décision prise le
ars-record-requests = Demandes de modification
ars-registration-title = Premier enregistrement
ars-registration-identity = Identité (FranceConnect)
ars-registration-given-names = Prénoms
ars-registration-birthplace = Lieu de naissance
ars-registration-activity = Activité déclarée
ars-registration-mode = Mode d'exercice
ars-registration-structure = Structure
ars-registration-address = Adresse de l'activité
ars-registration-confirmed = confirmé par un code
ars-registration-unconfirmed = non confirmé
ars-registration-documents = Pièces justificatives
ars-registration-decide-intro = Vérifiez l'identité et les pièces justificatives. Validée, la demande reçoit un numéro RPPS, envoyé par e-mail au professionnel ; refusée, le motif lui est envoyé.
ars-registration-approved = Demande validée : numéro RPPS { $rpps } attribué et envoyé au professionnel.

# Historique d'un professionnel
ars-event-anomaly-filed = Signalement d'anomalie déposé
ars-event-anomaly-state = Signalement d'anomalie : changement d'état
ars-event-contact-updated = Coordonnées de contact enregistrées dans le répertoire
ars-event-identity-updated = État civil enregistré dans le répertoire
ars-event-request-state = Demande de modification : changement d'état
ars-event-contact-on-behalf = Coordonnées renseignées par l'ARS pour le compte du professionnel, pièce justificative à l'appui
