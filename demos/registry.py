"""The demos' registry: pure data, no imports (read by :mod:`demos._common`, :mod:`demos.run_all`
and the docs' gallery hook, which parses it with ``ast``).

:data:`DEMOS` lists every demo in lecture order (the order of the docs gallery); :data:`SECONDS`
holds each demo's usual wall time on a 2-core CPU, announced when it starts.
"""

#: (module, figure family of DESIGN.md, lecture slides it reproduces), in lecture order
#: ("GAN and WGAN training": 2D illustration, optimal discriminator and JS, MNIST, Wasserstein,
#: WGAN-GP vs clipping, example of WGAN training, stability, c-transforms, ASGD, exercises,
#: semi-discrete WGAN)
DEMOS = (
    ("fig01_discriminators", "GAN discriminator landscapes on the 6-point toy",
     ("GAN and WGAN training: 'Illustration with a 2D example', 'And now a tougher example', "
     "'Final configuration', 'What happens if we update only the generator?', "
     "'And if we retrain the discriminator?'")),
    ("fig02_vanishing_gradients", "Vanishing gradients, JS stuck at log 2",
     "'Optimal Discriminator', 'Insufficiency of the Jensen-Shannon divergence'"),
    ("fig09_digits", "Digits: GAN / WGAN-GP / semi-discrete WGAN samples, SGD mode collapse",
     "'GAN Training for MNIST digits', 'Training GANs is quite unstable! (SGD instead of Adam)'"),
    ("fig03_parallel_lines", "Parallel lines: W1 and JS against theta",
     "Arjovsky et al. (2017) Example 1 / Figure 1; 'Why Wasserstein is better than JS or KL'"),
    ("fig04_wgan_critics", "WGAN critics: weight clipping vs gradient penalty",
     "'WGAN: Gradient Penalty v.s. Weight clipping' (Gulrajani et al. 2017, Figure 1)"),
    ("fig11_wgan_training", "Example of WGAN training: WGAN-WC vs WGAN-GP",
     "'Example of WGAN training' (WGAN-WC, WGAN-GP) on the 6-point toy"),
    ("fig08_dirac_gan", "Dirac-GAN vector fields and trajectories",
     "Mescheder et al. (2018), Figures 1-3 (GAN, NS-GAN, WGAN, WGAN-GP, R1)"),
    ("fig05_c_transforms", "c-transforms on U([0,1]^2): Voronoi and Laguerre",
     "'Let's look at c-transforms for the quadratic cost' (psi = 0 and optimal psi)"),
    ("fig06_semidiscrete", ("Semi-discrete OT: Laguerre diagram of a grayscale density, "
     "ASGD and Newton convergence"),
     "'WGAN in the semi-discrete case' (graylevel density), 'ASGD Algorithm for Semi-Discrete OT'"),
    ("fig10_exercises", "Piles of dirt (W = 5), Exercises 1 and 2",
     "'Wasserstein distance: A Discrete Example'; 'Exercise 1'; 'Exercise 2'"),
    ("fig07_sdwgan_2d", "Semi-discrete WGAN training in 2D",
     "'Alternate algorithm for semi-discrete WGAN learning', 'Example of semi-discrete WGAN'"),
    ("fig12_w1_critic", "Exact optimal W1 critic vs WGAN-GP and weight clipping",
     "'WGAN: Gradient Penalty v.s. Weight clipping'; the optimal critic psi^c of the 2D toy"),
)


#: usual wall time (seconds) of each demo's default run on a 2-core CPU, announced at its start
SECONDS = {
    "fig01_discriminators": 10, "fig02_vanishing_gradients": 2, "fig09_digits": 50,
    "fig03_parallel_lines": 1, "fig04_wgan_critics": 30, "fig11_wgan_training": 40,
    "fig08_dirac_gan": 5, "fig05_c_transforms": 5, "fig06_semidiscrete": 5,
    "fig10_exercises": 2, "fig07_sdwgan_2d": 8, "fig12_w1_critic": 20,
}


#: every file a default run writes -> the lecture slide it illustrates (the gallery shows it
#: under the figure, ``python -m demos`` prints the list and writes it to figures/index.html)
FIGURES = {
    "fig01_discriminators_easy.png": "GAN and WGAN training: 'Illustration with a 2D example'",
    "fig01_discriminators_tougher.png": "GAN and WGAN training: 'And now a tougher example...'",
    "fig01_discriminators_final.png": "GAN and WGAN training: 'What did you expect? Final "
                                      "configuration'",
    "fig01_discriminators_generator_only.gif": "GAN and WGAN training: 'What happens if we "
                                               "update only the generator?'",
    "fig01_discriminators_generator_only.png": "GAN and WGAN training: 'What happens if we "
                                               "update only the generator?'",
    "fig01_discriminators_retrain.png": "GAN and WGAN training: 'And if we retrain the "
                                        "discriminator?'",
    "fig02_vanishing_gradients.png": "GAN and WGAN training: 'Optimal Discriminator', "
                                     "'Insufficiency of the Jensen-Shannon divergence'",
    "fig09_digits_methods.png": "GAN and WGAN training: 'GAN Training for MNIST digits'; "
                                "'Example of semi-discrete WGAN'",
    "fig09_digits_sgd_vs_adam.png": "GAN and WGAN training: 'Training GANs is quite unstable! "
                                    "(SGD instead of Adam)'",
    "fig09_digits_w2.png": "GAN and WGAN training: 'GAN Training for MNIST digits' (exact W2^2 "
                           "along training)",
    "fig03_parallel_lines.png": "Deep Generative Models: GAN (2): 'Why Wasserstein is better "
                                "than JS or KL' (Arjovsky et al. 2017, Figure 1)",
    "fig04_wgan_critics.png": "GAN and WGAN training: 'WGAN: Gradient Penalty v.s. Weight "
                              "clipping' (Gulrajani et al. 2017, Figure 1)",
    "fig11_wgan_training_training.png": "GAN and WGAN training: 'Example of WGAN training' "
                                        "(WGAN-WC, WGAN-GP)",
    "fig11_wgan_training_8gaussians.png": "GAN and WGAN training: 'Example of WGAN training' "
                                          "(WGAN-WC, WGAN-GP) on Gulrajani et al.'s 8 "
                                          "Gaussians",
    "fig11_wgan_training_w2.png": "GAN and WGAN training: 'Example of WGAN training' (WGAN-WC, "
                                  "WGAN-GP), measured",
    "fig08_dirac_gan.png": "Mescheder et al. (2018), Figures 1-3: the Dirac-GAN (GAN, NS-GAN, "
                           "WGAN, WGAN-GP, R1)",
    "fig05_c_transforms.png": "GAN and WGAN training: 'Let's look at c-transforms for the "
                              "quadratic cost' (psi = 0, optimal psi)",
    "fig06_semidiscrete_laguerre.png": "GAN and WGAN training: 'WGAN in the semi-discrete case' "
                                       "(graylevel density), 'Laguerre diagram'",
    "fig06_semidiscrete_convergence.png": "GAN and WGAN training: 'ASGD Algorithm for "
                                          "Semi-Discrete OT'",
    "fig10_exercises_piles_of_dirt.png": "Deep Generative Models: GAN (2): 'Wasserstein "
                                         "distance: A Discrete Example' (W = 5)",
    "fig10_exercises_exercise_1.png": "GAN and WGAN training: 'Exercise 1'",
    "fig10_exercises_exercise_2.png": "GAN and WGAN training: 'Exercise 2'",
    "fig07_sdwgan_2d_training.gif": "GAN and WGAN training: 'Alternate algorithm for "
                                    "semi-discrete WGAN learning'",
    "fig07_sdwgan_2d_training.png": "GAN and WGAN training: 'Alternate algorithm for "
                                    "semi-discrete WGAN learning', 'Example of semi-discrete "
                                    "WGAN'",
    "fig07_sdwgan_2d_w2.png": "GAN and WGAN training: 'Example of semi-discrete WGAN' (exact "
                              "W2^2 along training)",
    "fig12_w1_critic.png": "GAN and WGAN training: 'WGAN: Gradient Penalty v.s. Weight "
                           "clipping', and the remark linked to the gradient penalty "
                           "(|grad psi^c| = 1 for W1)",
}
