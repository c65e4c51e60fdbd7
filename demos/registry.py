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
    "fig03_parallel_lines": 1, "fig04_wgan_critics": 30, "fig11_wgan_training": 25,
    "fig08_dirac_gan": 5, "fig05_c_transforms": 5, "fig06_semidiscrete": 5,
    "fig10_exercises": 2, "fig07_sdwgan_2d": 8, "fig12_w1_critic": 20,
}
